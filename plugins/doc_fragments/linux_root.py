# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The O(root) option the Linux removal modules share."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  root:
    description:
      - Act on the Linux filesystem mounted at this path instead of the running system (a VM
        image, a container root filesystem, a chroot). Paths, absolute symlinks included, are
        resolved inside it; package managers get C(--root) / C(--installroot); services and
        processes are not touched.
    type: path
    default: /
"""
